package randid

import "testing"

func TestNewIsValidAndUnique(t *testing.T) {
	t.Parallel()
	a, err := New(32)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(32)
	if a == b || !Valid(a, 32) || Valid(a, 16) || Valid("not base64!", 32) || Valid("", 32) {
		t.Errorf("New/Valid: %q %q", a, b)
	}
}
