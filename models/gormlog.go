package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"
)

// slowQuery is the duration above which a statement is logged.
const slowQuery = 500 * time.Millisecond

// gormLogger sends gorm's messages to zap at Warn: failed and slow statements only,
// and their SQL without parameter values, which may hold key hashes.
type gormLogger struct{ log *zap.Logger }

func newGormLogger(log *zap.Logger) gormLogger {
	return gormLogger{log: log.Named("gorm")}
}

func (l gormLogger) LogMode(gormlogger.LogLevel) gormlogger.Interface { return l }

func (l gormLogger) Info(context.Context, string, ...any) {}

func (l gormLogger) Warn(_ context.Context, msg string, args ...any) {
	l.log.Warn(fmt.Sprintf(msg, args...))
}

func (l gormLogger) Error(_ context.Context, msg string, args ...any) {
	l.log.Warn(fmt.Sprintf(msg, args...))
}

// ParamsFilter drops the values before gorm renders the SQL for Trace.
func (l gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}

func (l gormLogger) Trace(_ context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !expected(err):
		sql, _ := fc()
		l.log.Warn("database statement failed", zap.String("sql", sql),
			zap.Duration("elapsed", elapsed), zap.Error(err))
	case elapsed > slowQuery:
		sql, _ := fc()
		l.log.Warn("slow database statement", zap.String("sql", sql), zap.Duration("elapsed", elapsed))
	}
}

// expected errors are outcomes the Store returns to its caller, not faults.
func expected(err error) bool {
	return errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, gorm.ErrDuplicatedKey) ||
		errors.Is(err, context.Canceled)
}
