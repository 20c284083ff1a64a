package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/config"
	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/cron"
	"github.com/shuyuan-dev/shuyuan/internal/intake"
	"github.com/shuyuan-dev/shuyuan/internal/order"
	"github.com/shuyuan-dev/shuyuan/internal/relay"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
	"github.com/shuyuan-dev/shuyuan/internal/store/postgres"
	"github.com/shuyuan-dev/shuyuan/internal/web"
)

// openStore opens the configured store and returns the background upkeep
// it needs, if any.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, []cron.Task, error) {
	switch cfg.Store.Driver {
	case "duckdb":
		st, err := duckdb.Open(ctx, cfg.Store.Path, duckdb.Options{
			MemoryLimit: cfg.Store.MemoryLimit, Threads: cfg.Store.Threads, NoMigrate: cfg.NoMigrate,
		})
		return st, nil, err
	case "postgres":
		st, err := postgres.Open(ctx, cfg.Store.DSN, postgres.Options{
			MaxConns: int32(cfg.Store.MaxConns), StatementTimeout: cfg.Store.StatementTimeoutDuration(),
			NoMigrate: cfg.NoMigrate, RetentionDays: cfg.Store.RetentionDays,
		})
		if err != nil {
			return nil, nil, err
		}
		upkeep := cron.Task{Name: "event partitions and retention", Period: time.Hour, Jitter: time.Minute, Elected: true,
			Run: func(ctx context.Context) error {
				dropped, err := st.Maintain(ctx, time.Now())
				if len(dropped) > 0 {
					log.Info("dropped event partitions past the retention", "partitions", dropped)
				}
				return err
			}}
		return st, []cron.Task{upkeep}, nil
	}
	return nil, nil, fmt.Errorf("store.driver %q: must be duckdb or postgres", cfg.Store.Driver)
}

// nodeGCPercent is the garbage collector's GOGC on a PostgreSQL node.
// Such a node keeps little on its heap (~55 MiB at 16 k events/s), and its
// CPU is shared with the database's on a small server: at Go's default of
// 100 the collector took about a tenth of it. At 400 the node spent a
// fifth less CPU per event for ~25 MiB more heap (BENCHMARKS.md, "A node's
// garbage collector"). The embedded store's heap is larger, bounded by the
// intake log's backlog, and keeps Go's default.
const nodeGCPercent = 400

// gcPercent tells what GOGC serve sets for the store driver: none when the
// environment sets GOGC (Go reads it itself) or the store is embedded.
func gcPercent(driver string, getenv func(string) string) (int, bool) {
	if driver != "postgres" || getenv("GOGC") != "" {
		return 0, false
	}
	return nodeGCPercent, true
}

// openIntake opens the intake log in the data directory, numbering on
// from what the store has loaded, and says what it will replay.
func openIntake(ctx context.Context, cfg *config.Config, st store.Store, log *slog.Logger) (*intake.Log, error) {
	pos, err := st.IntakePosition(ctx)
	if err != nil {
		return nil, fmt.Errorf("intake log: %w", err)
	}
	ilog, err := intake.Open(filepath.Join(cfg.Store.Path, "intake"), intake.Options{
		SegmentBytes: cfg.Store.IntakeSegmentBytes, MaxBacklog: cfg.Store.IntakeMaxBacklog, NextSeq: pos + 1,
	})
	if err != nil {
		return nil, err
	}
	records, cut := ilog.Found()
	var replay uint64
	if end := ilog.End(); end > pos {
		replay = end - pos
	}
	log.Info("intake log opened", "records_in_log", records, "loaded_up_to", pos, "to_replay", replay, "torn_bytes_cut", cut)
	return ilog, nil
}

// rollupPeriod is how often the roll-ups catch up with the events (see
// store.RollerUp): each catch-up is a few statements whatever the number of
// events, so under load a longer period costs the ingest less, and analyses
// catch up themselves anyway.
const rollupPeriod = 2 * time.Second

const serveSynopsis = `Usage:
  shuyuan serve [flags]

Runs the collector (POST /api/report), the data-api, the WeChat routes, the
analyses and the dashboard, and the background work. Every flag has a
SHUYUAN_* environment fallback (--addr: SHUYUAN_ADDR); precedence: flag,
environment, the --config file, the default.
`

// serve is "shuyuan serve".
func serve(args []string) error {
	cfg, err := loadCommand("serve", serveSynopsis, args, nil)
	if err != nil {
		return err
	}
	if cfg.Demo {
		if err := demoConfig(cfg); err != nil {
			return err
		}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("bad config:\n%w", err)
	}
	tenants, err := cfg.Tenants()
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if pct, ok := gcPercent(cfg.Store.Driver, os.Getenv); ok {
		debug.SetGCPercent(pct)
	}

	st, upkeep, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "error", err)
		}
	}()
	reg := prometheus.NewRegistry()
	var metrics *server.Metrics
	w := store.NewWriter(st, store.WriterOptions{OnCommit: func(n int, took time.Duration, res []store.EventResult, err error) {
		metrics.ObserveCommit(n, took, res, err)
	}})
	metrics = server.NewMetrics(reg, w)
	// The writer is closed before the store (defers run last-in first-out):
	// every batch handed in is committed first.
	defer w.Close()

	// The WeChat Ads loop (ads.go); --demo points it at an in-process fake.
	wechatURL := cfg.WeChat.BaseURL
	if cfg.Demo {
		fakeURL, closeFake, err := startFake(tenants, log)
		if err != nil {
			return err
		}
		defer closeFake()
		wechatURL = fakeURL
	}
	adsLoop, err := newAds(st, tenants, wechatURL, cfg.WeChat.OutboxLeaseDuration(), reg, log)
	if err != nil {
		return err
	}

	// The daily pull of WeChat's analysis data (pull.go), on the same
	// WeChat host and, for the mini-programs, the same tokens.
	pull, err := newPulling(st, tenants, adsLoop.svc, wechatURL, log)
	if err != nil {
		return err
	}

	// Its lease is the ads outbox's (wechat.outbox_lease): one setting for
	// how soon a dead node's claims come back.
	relayWorker := relay.New(st, relay.Options{Holder: conversion.NewHolder(), Logger: log, Lease: cfg.WeChat.OutboxLeaseDuration(),
		Observe: relay.NewMetrics(reg, st).Observe})

	// The intake log (issue 11): on the embedded store an upload is
	// acknowledged once appended to it, and the loader stores it.
	collector := collect.New(w, collect.NewTypeGate(collect.StoredTypes(st), cfg.Limits.MaxNewEventTypes))
	apiStore := st
	var loader *collect.Loader
	if cfg.Store.Intake == "log" {
		ilog, err := openIntake(ctx, cfg, st, log)
		if err != nil {
			return err
		}
		defer ilog.Close() // after the loader stops (bg.Stop), before the store closes
		collector.WithLog(ilog)
		loader = collect.NewLoader(collector, ilog, st, tenants.ByID, collect.LoaderOptions{Logger: log, OnLoad: metrics.ObserveLoad})
		apiStore = loader.Fresh(st, cfg.Store.IntakeWaitDuration())
		metrics.WatchIntake(ilog)
	}

	srv := server.New(server.Deps{
		Tenants: tenants, Store: apiStore, Writer: w, Collector: collector, Logger: log, Metrics: metrics,
		Orders:   order.NewService(st, tenants, order.Options{OnPaid: adsLoop.svc.OnOrderPaid}),
		AdminKey: cfg.AdminKey, MaxBody: cfg.Limits.MaxBodyBytes, MaxBatch: cfg.Limits.MaxBatchEvents,
		MetricsToken: cfg.MetricsToken, MetricsAddr: cfg.MetricsAddr,
		Routes: []func(*server.Server) []server.Route{
			web.Mount(web.Options{Users: cfg.Users}),
			server.WX(adsLoop.svc),
		},
	})
	metricsAddr, stopMetrics, err := srv.ServeMetrics()
	if err != nil {
		return err
	}
	defer stopMetrics(context.Background())
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "metrics_addr", metricsAddr, "store", cfg.Store.Driver, "apps", len(tenants.Apps()))
	// Background work, all of it: stopped (and flushed) after the last
	// request and before the writer and the store close.
	// Tasks every node runs, and tasks elected to run once across the nodes
	// that share a store (on the embedded store, this process is every node).
	tasks := append([]cron.Task{
		{Name: "ads outbox delivery", Loop: adsLoop.worker.Run},
		{Name: "intake loader", Loop: func(ctx context.Context) {
			if loader != nil {
				loader.Run(ctx) //nolint:errcheck // it logs its own errors and returns at ctx's end
			}
		}},
		{Name: "wechat token refresh", Period: time.Second, Run: func(ctx context.Context) error {
			adsLoop.svc.RefreshTokens(ctx)
			pull.keepFresh(ctx, log)
			return nil
		}},
		// Once across the nodes: two pulling at once would fetch days twice.
		{Name: "wechat data pull", Period: pullPeriod, Jitter: time.Minute, Elected: true, Run: pull.puller.Run},
		{Name: "roll-ups", Period: rollupPeriod, Elected: true, Run: st.RollUp},
		// The Youshu relay (issue 13) on every node: its claims keep them apart.
		{Name: "youshu relay", Period: 2 * time.Second, Run: func(ctx context.Context) error {
			return relayWorker.DeliverAll(ctx, tenants.Apps())
		}},
		{Name: "youshu relay retention", Period: time.Hour, Jitter: time.Minute, Elected: true, Run: func(ctx context.Context) error {
			n, err := relayWorker.Prune(ctx, tenants.Apps())
			if n > 0 {
				log.Info("deleted delivered relay rows past youshu_relay.keep_delivered", "rows", n)
			}
			return err
		}},
	}, upkeep...)
	bg, err := cron.New(st.Lead, reg, log, tasks...)
	if err != nil {
		return err
	}
	bg.Start()
	if cfg.Demo {
		if err := runDemo(ctx, cfg, tenants, st, w, ln.Addr().String(), log); err != nil {
			log.Error("demo", "error", err)
		}
	}

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
	}
	log.Info("shutting down: no new requests, flushing the writer, closing the store")
	srv.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Error("shutdown", "error", err)
	}
	if loader != nil {
		// What was acknowledged is durable in the log either way; storing
		// it now spares the next start the replay.
		if !loader.CatchUp(context.Background(), 20*time.Second) {
			log.Warn("stopping before the intake log is loaded; the rest is loaded at the next start")
		}
	}
	bg.Stop()
	return nil
}
