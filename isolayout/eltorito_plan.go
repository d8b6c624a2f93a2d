package isolayout

import (
	"fmt"
	"strings"
	"time"
)

// defaultLoadSectors is the El Torito sector count isolinux needs.
const defaultLoadSectors = 4

// bootPlan is the El Torito part of a plan: which nodes of the tree are the
// boot catalog, the BIOS loader and the EFI image. The catalog is a file of
// the tree like any other; its bytes are encoded once every LBA is known.
type bootPlan struct {
	et      *ElTorito
	catalog *pnode
	loader  *pnode // nil without a BIOS entry
	esp     *pnode // nil without a UEFI entry
}

// planBoot finds the boot files in the tree and adds the boot catalog to it.
func planBoot(root *pnode, et *ElTorito, date time.Time) (*bootPlan, error) {
	if et.LoaderPath == "" && et.EFIImagePath == "" {
		return nil, fmt.Errorf("%w: neither a BIOS loader nor an EFI image", ErrBootPath)
	}
	b := &bootPlan{et: et}
	if et.EFIImagePath != "" {
		esp := lookup(root, et.EFIImagePath)
		if esp == nil || !esp.mode.IsRegular() || esp == root || esp.volatile || esp.size == 0 {
			return nil, fmt.Errorf("EFI image %s: %w: no such non-volatile, non-empty regular file in the tree", et.EFIImagePath, ErrBootPath)
		}
		b.esp = esp
	}
	if et.LoaderPath != "" {
		if err := b.findLoader(root); err != nil {
			return nil, err
		}
	}
	if err := b.addCatalog(root, date); err != nil {
		return nil, err
	}
	for _, n := range b.files() {
		n.boot = true
	}
	return b, nil
}

func (b *bootPlan) findLoader(root *pnode) error {
	et := b.et
	loader := lookup(root, et.LoaderPath)
	if loader == nil || !loader.mode.IsRegular() || loader == root {
		return fmt.Errorf("loader %s: %w: no such regular file in the tree", et.LoaderPath, ErrBootPath)
	}
	// An empty loader would give the catalog an entry that loads nothing,
	// and a file of no sectors has no LBA of its own.
	if loader.volatile || loader.size != int64(len(et.Loader)) || loader.size == 0 {
		return fmt.Errorf("loader %s: %w: node size %d, loader %d bytes (and it must not be empty or volatile)",
			et.LoaderPath, ErrBootPath, loader.size, len(et.Loader))
	}
	if et.BootInfoTable && len(et.Loader) < bootInfoChecksumStart {
		return fmt.Errorf("loader %s: %w", et.LoaderPath, ErrLoaderTooShort)
	}
	if loader == b.esp {
		return fmt.Errorf("loader %s: %w: the BIOS loader and the EFI image are one file", et.LoaderPath, ErrBootPath)
	}
	b.loader = loader
	return nil
}

func (b *bootPlan) addCatalog(root *pnode, date time.Time) error {
	clean := strings.Trim(b.et.CatalogPath, "/")
	dirPath, name := "", clean
	if i := strings.LastIndexByte(clean, '/'); i >= 0 {
		dirPath, name = clean[:i], clean[i+1:]
	}
	dir := root
	if dirPath != "" {
		dir = lookup(root, dirPath)
	}
	if name == "" || dir == nil || !dir.mode.IsDir() || lookup(dir, name) != nil {
		return fmt.Errorf("catalog %s: %w: its directory must exist and the name must be free", b.et.CatalogPath, ErrBootPath)
	}
	b.catalog = &pnode{name: name, mode: 0o444, mtime: date, size: SectorSize}
	dir.add(b.catalog)
	return nil
}

// files are the boot files in the order of their data: the catalog, the
// loader, the EFI image (so that the loader's LBA is small and the ESP,
// which the hybrid MBR and GPT point at, is contiguous before other data).
func (b *bootPlan) files() []*pnode {
	fs := []*pnode{b.catalog}
	if b.loader != nil {
		fs = append(fs, b.loader)
	}
	if b.esp != nil {
		fs = append(fs, b.esp)
	}
	return fs
}

// encode fills in the generated contents of the boot files, once their
// LBAs are known.
func (b *bootPlan) encode() error {
	b.catalog.data = b.bootCatalog().encode()
	if b.loader != nil {
		loader, err := b.patchedLoader()
		if err != nil {
			return err
		}
		b.loader.data = loader
	}
	return nil
}

// bootCatalog is the catalog for the planned boot entries: the BIOS loader
// as the default entry and the EFI image as a final 0xEF section, or the
// EFI image alone as the default entry.
func (b *bootPlan) bootCatalog() *bootCatalog {
	espEntry := func() bootEntry {
		// Virtual 512-byte sectors, capped: UEFI firmware reads the FAT
		// file system's own size, not this count.
		return bootEntry{BootIndicator: bootIndicatorBootable, MediaType: mediaNoEmulation,
			SectorCount: uint16(min((b.esp.size+virtualSectorSize-1)/virtualSectorSize, 0xFFFF)), LoadRBA: b.esp.lba}
	}
	if b.loader == nil {
		return &bootCatalog{Validation: validationEntry{PlatformID: platformEFI}, Default: espEntry()}
	}
	loadSectors := b.et.LoadSectors
	if loadSectors == 0 {
		loadSectors = defaultLoadSectors
	}
	cat := &bootCatalog{
		Validation: validationEntry{PlatformID: platformX86},
		Default: bootEntry{
			BootIndicator: bootIndicatorBootable,
			MediaType:     mediaNoEmulation,
			SectorCount:   loadSectors,
			LoadRBA:       b.loader.lba,
		},
	}
	if b.esp != nil {
		cat.Sections = []catalogSection{{
			Header:  sectionHeader{HeaderID: headerIDSectionFinal, PlatformID: platformEFI, Entries: 1},
			Entries: []bootEntry{espEntry()},
		}}
	}
	return cat
}

// patchedLoader is the BIOS loader as the image holds it.
func (b *bootPlan) patchedLoader() ([]byte, error) {
	et := b.et
	if !et.BootInfoTable {
		return et.Loader, nil
	}
	loader, err := patchBootInfoTable(et.Loader, b.loader.lba)
	if err != nil {
		return nil, fmt.Errorf("loader %s: %w", et.LoaderPath, err)
	}
	return loader, nil
}
