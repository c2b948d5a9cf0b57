package main

import (
	"context"
	"fmt"
)

// runDemo is a placeholder until its issue lands.
func runDemo(ctx context.Context, args []string, io stdio) int {
	fmt.Fprintln(io.err, "scanin demo: not built yet")
	return 1
}
