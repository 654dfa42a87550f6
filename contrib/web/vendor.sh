#!/bin/sh
# vendor.sh -- copy uPlot's built files from npm into vendor/, where the page
# loads them (the page has no build step and loads nothing from elsewhere).
#   cd contrib/web && npm ci && ./vendor.sh     (after changing the version in package.json)
set -e
cd "$(dirname "$0")"
mkdir -p vendor
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css vendor/
cp node_modules/uplot/LICENSE vendor/uPlot.LICENSE
v=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' node_modules/uplot/package.json)
echo "uPlot $v, from npm (package-lock.json), MIT licence (uPlot.LICENSE)" > vendor/README
echo "vendored uPlot $v"
