package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/shuyuan-dev/shuyuan/internal/config"
	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// errHelped ends a command that printed its help: the process exits 0.
var errHelped = errors.New("help printed")

// loadCommand parses the arguments of a command that reads the
// configuration: own defines the command's own flags, the configuration's
// are added beside them (each with its SHUYUAN_* fallback). Asked for help,
// it prints the synopsis and every flag to stdout and returns errHelped.
func loadCommand(name, synopsis string, args []string, own func(fs *flag.FlagSet)) (*config.Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	if own != nil {
		own(fs)
	}
	cfg, rest, err := config.LoadCommand(fs, args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		printHelp(fs, synopsis)
		return nil, errHelped
	}
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%s: unexpected arguments %v (see shuyuan %s -h)", name, rest, name)
	}
	return cfg, nil
}

// parseFlags parses the arguments of a command that reads no
// configuration, with the same help.
func parseFlags(fs *flag.FlagSet, synopsis string, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		printHelp(fs, synopsis)
		return errHelped
	}
	if err != nil {
		return fmt.Errorf("%s: %w (see shuyuan %s -h)", fs.Name(), err, fs.Name())
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %v (see shuyuan %s -h)", fs.Name(), fs.Args(), fs.Name())
	}
	return nil
}

func printHelp(fs *flag.FlagSet, synopsis string) {
	fmt.Fprint(os.Stdout, synopsis)
	fmt.Fprintln(os.Stdout, "\nFlags:")
	fs.SetOutput(os.Stdout)
	fs.PrintDefaults()
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// pickApp is the app named id, or the only configured one.
func pickApp(cfg *config.Config, id string) (*tenant.App, error) {
	tenants, err := cfg.Tenants()
	if err != nil {
		return nil, err
	}
	if id == "" {
		if apps := tenants.Apps(); len(apps) == 1 {
			return apps[0], nil
		}
		return nil, fmt.Errorf("--app ID is required (%d apps are configured)", len(tenants.Apps()))
	}
	a, ok := tenants.ByID(id)
	if !ok {
		return nil, fmt.Errorf("--app: no app %q in the configuration", id)
	}
	return a, nil
}

// adminCall calls a running server's /wx route with the admin key and
// decodes a WeChat-style answer into out, failing on a non-zero errcode.
func adminCall(ctx context.Context, cfg *config.Config, method, u string, out any) error {
	if cfg.AdminKey == "" {
		return fmt.Errorf("the admin key is needed to call the server (--admin-key or SHUYUAN_ADMIN_KEY)")
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.AdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	var env struct {
		ErrCode int64  `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s %s: HTTP %d: %.200s", method, u, resp.StatusCode, raw)
	}
	if env.ErrCode != 0 {
		return fmt.Errorf("%s %s: errcode %d: %s", method, u, env.ErrCode, env.ErrMsg)
	}
	return json.Unmarshal(raw, out)
}

// busyStore adds, to a failure to open the embedded store because a
// server holds it, what the command's user can do instead; other errors
// (an unreachable PostgreSQL, say) go as they are.
func busyStore(err error, advice string) error {
	if errors.Is(err, duckdb.ErrLocked) {
		return fmt.Errorf("%w: %s", err, advice)
	}
	return err
}
