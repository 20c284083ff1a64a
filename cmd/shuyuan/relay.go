package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/relay"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

const relaySynopsis = `Usage:
  shuyuan relay replay [--app ID] [config flags]

Sends the Youshu relay's dead letters again: every row Youshu refused for
good, of the app (of every relaying app, without --app), becomes pending,
and what is due is delivered at once. It works on the store itself (a
server must not own the embedded store meanwhile; on PostgreSQL the nodes
deliver what it leaves pending).
`

// relayCmd is "shuyuan relay replay".
func relayCmd(args []string) error {
	if len(args) == 0 || args[0] != "replay" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Print(relaySynopsis)
			return errHelped
		}
		fmt.Fprint(os.Stderr, relaySynopsis)
		return fmt.Errorf("relay: the only subcommand is replay")
	}
	var appID string
	cfg, err := loadCommand("relay replay", relaySynopsis, args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&appID, "app", "", "the app whose dead letters to send again (default: every relaying app)")
	})
	if err != nil {
		return err
	}
	tenants, err := cfg.Tenants()
	if err != nil {
		return err
	}
	var apps []*tenant.App
	for _, a := range tenants.Apps() {
		if a.Relay != nil && (appID == "" || a.ID == appID) {
			apps = append(apps, a)
		}
	}
	if appID != "" && len(apps) == 0 {
		return fmt.Errorf("--app: no app %q with youshu_relay enabled in the configuration", appID)
	}
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Minute)
	defer stop()
	log := newLogger(cfg.LogLevel)
	st, _, err := openStore(ctx, cfg, log)
	if err != nil {
		return busyStore(err, "stop it first; its dead letters wait for the replay")
	}
	defer st.Close()
	w := relay.New(st, relay.Options{Holder: conversion.NewHolder(), Logger: log})
	for _, a := range apps {
		n, err := st.ReplayRelays(ctx, a.ID, time.Now())
		if err != nil {
			return err
		}
		sent, err := w.Deliver(ctx, a)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %d dead letters back in the relay, %d delivered now\n", a.ID, n, sent)
	}
	return nil
}
