// Package web embeds the browser side of scanin that the relay serves:
// widget.html (the iframe page) and widget.js (its bootstrap, a file of its
// own because the page's CSP allows no inline script), embed.js and
// embed.d.ts (for the embedding page), and, once ./build.sh has built them,
// dist/widget.wasm with its precompressed .br and .gz siblings.
package web

import (
	"embed"
	"io/fs"
)

//go:embed widget.html widget.js embed.js embed.d.ts all:dist
var files embed.FS

// FS returns the embedded files. dist/ holds only .gitkeep until the widget
// has been built; callers serve whatever is there.
func FS() fs.FS { return files }
