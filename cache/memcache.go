package cache

import "container/list"

// memCache is the in-memory member cache: least recently used members are
// let go of once the bytes held exceed the limit. add returns the members
// it let go of, and the caller moves them to their disk store files (file
// I/O, so not under whatever lock guards the cache); a member a live
// Initrd refers to stays readable either way (the Initrd holds it).
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
