package manifest_test

import (
	"context"
	"fmt"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/manifest"
)

// Start a node from a manifest and call one of its actors.
func ExampleOpen() {
	app, err := manifest.Open("testdata/greeter/app.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	node, err := actor.NewNode(app.Options())
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := node.Start(app.Root); err != nil {
		fmt.Println(err)
		return
	}
	defer node.Shutdown(context.Background())

	greeter, _ := node.Capability("greeter", capability.Send)
	var answer string
	if err := node.Call(context.Background(), greeter, map[string]string{"name": "Go"}, &answer); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(answer)
	fmt.Println("node-wide process limit:", app.Options().MaxProcesses)
	// Output:
	// Hello, Go!
	// node-wide process limit: 100
}
