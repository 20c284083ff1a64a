package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

// ads is the WeChat Ads loop of a running server: the conversion service
// (rules, routes' backend) and the outbox worker.
type ads struct {
	svc    *conversion.Service
	worker *conversion.Worker
}

// newAds wires the loop over st: the events hook, the metrics on reg and
// the worker. The data-api's paid hook is svc.OnOrderPaid.
func newAds(st store.Store, tenants *tenant.Registry, baseURL string, lease time.Duration, reg prometheus.Registerer, log *slog.Logger) (*ads, error) {
	svc := conversion.NewService(st, tenants, conversion.Options{BaseURL: baseURL, Logger: log})
	st.SetEventHook(svc.OnEvents)
	var m *conversion.Metrics
	if reg != nil {
		m = conversion.NewMetrics(reg, svc)
	}
	return &ads{svc: svc, worker: conversion.NewWorker(svc, conversion.WorkerOptions{Metrics: m, Lease: lease})}, nil
}

// demoWxSecret is the demo app's WeChat secret, known to the in-process
// fake only; like the demo's other credentials it is public.
const demoWxSecret = "demo-wx-secret-5d7e0c3a"

// demoOAAppID and demoOASecret are the demo's official account, known to
// the in-process fake only, whose data the demo pulls.
const (
	demoOAAppID  = "wxdemo0a0000000001"
	demoOASecret = "demo-oa-secret-9b41f2e6"
)

// startFake runs wxfake on a loopback port with every app of tenants that
// has WeChat credentials, for serve --demo: WeChat calls then go to it. Any
// well-formed click id counts as known, so the demo's clicks are identified
// in reports. The official accounts of apps that pull WeChat's data are
// registered too, and the analysis data is ready at any hour, so the demo
// shows pulled days at once.
func startFake(tenants *tenant.Registry, log *slog.Logger) (string, func(), error) {
	opts := wxfake.Options{IdentifyWellFormed: true, DedupOuterActionID: true, MiniReadyHour: -1, OAReadyHour: -1}
	for i, a := range tenants.Apps() {
		if a.WxAppID != "" && a.WxSecret != "" {
			opts.Apps = append(opts.Apps, wxfake.App{AppID: a.WxAppID, Secret: a.WxSecret, AccountID: 9000001 + int64(i)})
		}
		if a.Pull != nil && a.Pull.AccountAppID != "" {
			opts.Apps = append(opts.Apps, wxfake.App{AppID: a.Pull.AccountAppID, Secret: a.Pull.AccountSecret, Kind: wxfake.KindOfficialAccount})
		}
	}
	fake, err := wxfake.New(opts)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen for the WeChat fake: %w", err)
	}
	hs := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("wechat fake", "error", err)
		}
	}()
	base := "http://" + ln.Addr().String()
	log.Info("demo: WeChat calls go to the in-process fake", "url", base, "inspect", base+"/_fake/actions")
	return base, func() { hs.Close() }, nil
}
