package isolate

import (
	"testing"

	"github.com/dop251/goja"
)

// TestHandleLayout: handleOf reads goja's private layout (host_handle.go);
// this fails loudly if a goja upgrade moved it, and checks that for every
// kind of object it finds exactly the handle goja's Export finds.
func TestHandleLayout(t *testing.T) {
	l, err := handleLayoutOf()
	if err != nil {
		t.Fatalf("goja's dynamic object layout is not the one Cloister knows (handleOf falls back to Export): %v", err)
	}
	r := goja.New()
	h1, h2 := &capHandle{}, &capHandle{}
	objs := []*goja.Object{r.NewDynamicObject(h1), r.NewDynamicObject(h2), goja.NewSharedDynamicObject(h1),
		r.NewDynamicObject(hostObjectProbe{}), r.NewDynamicArray(hostArrayProbe{}), r.NewObject(), r.NewArray(),
	}
	// A Go value wrapped by reflection is not a handle, though Export
	// reaches the pointer: no script can get one (see host.go).
	wrapped := r.ToValue(h1).(*goja.Object)
	if h, ok := handleOf(wrapped); ok {
		t.Errorf("a reflected *capHandle reads as handle %p", h)
	}
	for _, p := range objectKindProbes {
		if v, err := r.RunString("(" + p.src + ")"); err == nil {
			objs = append(objs, v.(*goja.Object))
		}
	}
	for i, o := range objs {
		got, ok := l.read(o)
		want, wantOK := exportedHandle(o)
		if got != want || ok != wantOK {
			t.Errorf("object %d (%v): read %p %v, Export finds %p %v", i, o.ExportType(), got, ok, want, wantOK)
		}
		if h, ok := handleOf(o); h != got || ok != (got != nil) {
			t.Errorf("object %d: handleOf %p %v, read %p", i, h, ok, got)
		}
	}
	if h, _ := l.read(objs[0]); h != h1 {
		t.Fatalf("first handle read as %p, want %p", h, h1)
	}
	if h, _ := l.read(objs[1]); h != h2 {
		t.Fatalf("second handle read as %p, want %p", h, h2)
	}
}

// TestHandleOf_NoAllocs: resolving a handle, as every send does, allocates
// nothing.
func TestHandleOf_NoAllocs(t *testing.T) {
	if _, err := handleLayoutOf(); err != nil {
		t.Skip("layout unknown; TestHandleLayout reports it")
	}
	r := goja.New()
	o := r.NewDynamicObject(&capHandle{})
	if n := testing.AllocsPerRun(100, func() { handleOf(o) }); n != 0 {
		t.Fatalf("handleOf allocates %v times", n)
	}
}
