// Package secureboot answers, at build time, whether an EFI image will be
// accepted under UEFI Secure Boot through shim: it reads the Authenticode
// signature of a PE/COFF image (the kernel's EFI stub, a loader), checks it
// against the image's bytes, and checks that its signer chains to a
// certificate shim trusts (the vendor certificate built into shim).
//
// It stands beside efiboot, which lays out the ESP: efiboot decides what
// boots, secureboot says whether the firmware and shim will let it. It does
// no I/O; callers hand it the files' bytes.
package secureboot
