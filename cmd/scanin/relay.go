package main

import (
	"context"
	"fmt"
)

// runRelay is a placeholder until its issue lands.
func runRelay(ctx context.Context, args []string, io stdio) int {
	fmt.Fprintln(io.err, "scanin relay: not built yet")
	return 1
}
