package statecache

import (
	"testing"
	"time"

	"github.com/easelhq/easel/internal/testutil"
)

func TestCache(t *testing.T) {
	t.Parallel()
	clock := testutil.NewClock()
	c, err := New[string](2, time.Minute, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	get := func(key, tag string, want Result, wantValue string) {
		t.Helper()
		v, r := c.Get(key, tag)
		if r != want || v != wantValue {
			t.Errorf("Get(%q, %q) = %q, %s; want %q, %s", key, tag, v, r, wantValue, want)
		}
	}
	get("a", "t1", Miss, "")
	c.Put("a", "t1", "one")
	get("a", "t1", Hit, "one")
	get("a", "t2", Conflict, "") // another replica saved t2: never the old copy
	c.Put("a", "t2", "two")
	get("a", "t2", Hit, "two")
	clock.Advance(time.Minute)
	get("a", "t2", Miss, "") // confirmed too long ago: ask Redis again
	c.Put("a", "t2", "two")
	c.Put("b", "", "bee")
	c.Put("c", "", "sea") // size 2: "a" is the least recently used
	get("a", "t2", Miss, "")
	get("c", "", Hit, "sea")
	c.Remove("c")
	get("c", "", Miss, "")

	var none *Cache[string]
	none.Put("a", "t", "x")
	if _, r := none.Get("a", "t"); r != Miss {
		t.Errorf("a nil cache answered %s, want miss", r)
	}
}
