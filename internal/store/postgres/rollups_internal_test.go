package postgres

import "testing"

// Every roll-up version after upgradeBase has its in-place fill: a bump of
// rollupVersion without one would make ensureRollups roll every store up
// again from the events instead of filling the new tables.
func TestUpgradeFillsCover(t *testing.T) {
	if got := upgradeBase + len(upgradeFills); got != rollupVersion {
		t.Errorf("upgradeFills bring a store up to version %d, rollupVersion is %d", got, rollupVersion)
	}
}
