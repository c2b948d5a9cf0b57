# Sourced by build.sh. edge_assets DIR [CONFIG] writes the edge relay's
# static bundle into DIR/dist (static.js, public/): the widget's files and
# pages with the self-hosted relay's headers, and the apps of CONFIG (the
# JSON file of `scanin relay --config`; none: the demo app), checked as
# scanin relay checks them. See server/edge/cmd/edgebundle.
edge_assets() {
	local dir=$1 config=${2:-}
	step "server/edge/dist: static.js and public/ (the widget's files${config:+, apps from $config})"
	go run ./server/edge/cmd/edgebundle -out "$dir/dist" ${config:+-config "$config"}
}
