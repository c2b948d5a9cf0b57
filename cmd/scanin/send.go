package main

import (
	"context"
	"fmt"
)

// runSend is a placeholder until its issue lands.
func runSend(ctx context.Context, args []string, io stdio) int {
	fmt.Fprintln(io.err, "scanin send: not built yet")
	return 1
}
