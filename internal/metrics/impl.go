package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// impl is replaced by the real registry (registry.go).
type impl struct{}

func newRegistry(cfg Config) *Registry                               { return &Registry{} }
func (r *Registry) observe(s Series, v float64)                      {}
func (r *Registry) setShardLevel(a, rg, st string, enabled []string) {}
func (r *Registry) dropStream(ns, a, rg, st string)                  {}
func (r *Registry) flush(ctx context.Context) error                  { return nil }
func (r *Registry) run(ctx context.Context)                          { <-ctx.Done() }

// Describe implements prometheus.Collector. (Stub: replaced.)
func (r *Registry) Describe(ch chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector. (Stub: replaced.)
func (r *Registry) Collect(ch chan<- prometheus.Metric) {}
