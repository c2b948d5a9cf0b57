package main

import (
	"context"
	"fmt"
)

// runReceive is a placeholder until its issue lands.
func runReceive(ctx context.Context, args []string, io stdio) int {
	fmt.Fprintln(io.err, "scanin receive: not built yet")
	return 1
}
