package server

import (
	"context"

	"go.uber.org/zap"

	"github.com/keyward/keyward/audit"
	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/metrics"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/retention"
)

// retentionJob prunes old audit events and usage counters every hour, on the one
// replica that holds the "retention" lease.
func retentionJob(cfg config.Config, store *models.Store, recorder *audit.Recorder, m *metrics.Metrics, log *zap.Logger) func(context.Context) {
	return retention.New(retention.Config{
		Store: store, Audit: recorder, Count: m, Log: log,
		AuditDays: cfg.AuditRetentionDays, UsageDays: cfg.UsageRetentionDays,
		Holder: replicaName(),
	}).Run
}
