package manifest_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/manifest"
)

func TestManifest_Storage(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.js": okJS,
		"app.yaml": "defaults:\n  limits: {storage: 1MiB}\n" + head +
			"    - name: a\n      script: a.js\n      storage: true\n" +
			"    - name: b\n      script: a.js\n      storage: true\n      limits: {storage: 2KiB}\n" +
			"    - name: c\n      script: a.js\n" +
			"    - name: pool\n      strategy: one_for_one\n      template:\n        script: a.js\n        storage: true\n",
	})
	app, err := manifest.Open(filepath.Join(dir, "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ch := app.Root.Children
	if !ch[0].Storage || ch[0].StorageQuota != 1<<20 {
		t.Errorf("a: storage %v quota %d, want the default quota 1MiB", ch[0].Storage, ch[0].StorageQuota)
	}
	if !ch[1].Storage || ch[1].StorageQuota != 2<<10 {
		t.Errorf("b: storage %v quota %d, want 2KiB", ch[1].Storage, ch[1].StorageQuota)
	}
	if ch[2].Storage {
		t.Error("c is granted storage it did not ask for")
	}
	if !ch[3].Template.Storage {
		t.Error("the template's storage grant was lost")
	}
	if !app.Storage || app.DataDir != filepath.Join(dir, manifest.DefaultDataDir) {
		t.Errorf("Storage %v DataDir %q", app.Storage, app.DataDir)
	}
}

func TestManifest_StorageRefusals(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{head + "    - name: s\n      strategy: one_for_one\n      storage: true\n", "storage belongs to script workers"},
		{head + "    - name: g\n      go: thing\n      storage: true\n", "not a Go actor"},
		{head + "    - name: a\n      script: a.js\n      limits: {storage: 2TiB}\n", "storage: "},
	} {
		dir := writeFiles(t, map[string]string{"a.js": okJS, "app.yaml": c.yaml})
		_, err := manifest.Open(filepath.Join(dir, "app.yaml"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.yaml, err, c.want)
		}
	}
}

func TestManifest_DataDir(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.js": okJS, "app.yaml": "data_dir: state/here\n" + head + workerA})
	app, err := manifest.Open(filepath.Join(dir, "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if app.Storage || app.DataDir != filepath.Join(dir, "state/here") {
		t.Errorf("Storage %v DataDir %q", app.Storage, app.DataDir)
	}
}
