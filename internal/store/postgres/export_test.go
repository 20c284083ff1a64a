package postgres

// SkuRowsSQL is the SELECT that groups the SKU events of evTable in the
// columns of rollup_skus, which versions before 8 inserted at every
// roll-up: a test sets a store back to such a version with it.
func SkuRowsSQL(evTable string) string { return rollupPlaceholders(evTable).Replace(skuRows) }

// RollupVersion is the roll-up definition a store is brought up to.
const RollupVersion = rollupVersion
