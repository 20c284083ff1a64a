package postgres

import "context"

// SkuRowsSQL is the SELECT that groups the SKU events of evTable in the
// columns of rollup_skus, which versions before 8 inserted at every
// roll-up: a test sets a store back to such a version with it.
func SkuRowsSQL(evTable string) string { return rollupPlaceholders(evTable).Replace(skuRows) }

// RollupVersion is the roll-up definition a store is brought up to.
const RollupVersion = rollupVersion

// RetentionMark is the comment retention puts on a partition it drops.
const RetentionMark = retentionMark

// RollUpDetached counts the events of table, a partition retention
// detached, that the roll-ups do not hold yet: the first half of what
// retention does after the detach, without the drop.
func (s *Store) RollUpDetached(ctx context.Context, table string) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	return rollUpDetached(ctx, conn, table)
}
