// Package sdk holds the harness that runs the official Youshu mini-program
// SDK (npm sr-sdk-wxapp, 1.4.2 … 2.1.1) in Node against a collector, and the
// Go test that points it at the real shuyuan server. The harness is
// JavaScript (run.js, lib/, scenarios/); see README.md. Install its npm
// packages with `npm ci --prefix test/sdk` before `go test ./test/sdk/`.
package sdk
