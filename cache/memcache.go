package cache

import "container/list"

// memCache is the in-memory member cache: least recently used members are
// let go of once the bytes held exceed the limit, and a Pack lets go of
// those its Initrd does not use (keep), so that memory holds what the
// latest Initrd uses and not every version a long-running daemon has made.
// add and keep return the members they let go of, and the caller moves them
// to their disk store files (file I/O, so not under whatever lock guards
// the cache); a member a live Initrd refers to stays readable either way
// (the Initrd holds it).
type memCache struct {
	limit int64
	bytes int64
	ll    *list.List // front: most recently used; values *member
	index map[memberKey]*list.Element
}

func newMemCache(limit int64) *memCache {
	return &memCache{limit: limit, ll: list.New(), index: map[memberKey]*list.Element{}}
}

// get returns the member with key k and marks it used.
func (c *memCache) get(k memberKey) *member {
	el, ok := c.index[k]
	if !ok {
		return nil
	}
	c.ll.MoveToFront(el)
	return el.Value.(*member)
}

// add inserts m (whose bytes are in memory) and evicts what exceeds the
// limit, least recently used first, returning the evicted members. A
// member larger than the limit is not kept.
func (c *memCache) add(m *member) (evicted []*member) {
	if _, ok := c.index[m.key]; ok || m.inMemory() == nil {
		return nil
	}
	c.index[m.key] = c.ll.PushFront(m)
	c.bytes += m.sizeBytes
	for c.bytes > c.limit && c.ll.Len() > 0 {
		el := c.ll.Back()
		old := el.Value.(*member)
		c.ll.Remove(el)
		delete(c.index, old.key)
		c.bytes -= old.sizeBytes
		evicted = append(evicted, old)
	}
	return evicted
}

// keep lets go of every member that live does not hold and returns them.
// A member of an Initrd no longer the latest is reused only if its chunk
// comes back with the same key, which takes the same stat data, ctime
// included, so practically never; one a generation still serves reads
// from its store file once spilled. Figures: MEASUREMENTS.md, integration.
func (c *memCache) keep(live map[memberKey]*member) (evicted []*member) {
	for k, el := range c.index {
		if live[k] != nil {
			continue
		}
		old := el.Value.(*member)
		c.ll.Remove(el)
		delete(c.index, k)
		c.bytes -= old.sizeBytes
		evicted = append(evicted, old)
	}
	return evicted
}
