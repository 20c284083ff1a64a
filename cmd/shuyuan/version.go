package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version, commit and date are set at build time:
//
//	go build -ldflags "-X main.version=$(git describe --always --dirty) \
//	  -X main.commit=$(git rev-parse HEAD) -X main.date=$(date -u +%FT%TZ)" ./cmd/shuyuan
//
// Otherwise commit and date come from what the Go toolchain recorded, if
// it did (go build in a git checkout, unless -buildvcs=false).
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// versionCmd is "shuyuan version": the version, and the commit and time
// of the build when the Go toolchain recorded them (go build in a git
// checkout does; go run does not).
func versionCmd(args []string) error {
	if len(args) > 0 {
		fmt.Println("Usage:\n  shuyuan version\n\nPrints the version, the commit and the build date.")
		return errHelped
	}
	commit, date, dirty := commit, date, false
	if bi, ok := debug.ReadBuildInfo(); ok && commit == "" {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				date = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if dirty {
		commit += " (with uncommitted changes)"
	}
	if commit == "" {
		commit = "unknown (build with -ldflags, see version.go)"
	}
	if date == "" {
		date = "unknown"
	}
	fmt.Printf("shuyuan %s\ncommit  %s\nbuilt   %s\ngo      %s %s/%s\n", version, commit, date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
