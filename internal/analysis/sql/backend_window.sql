-- The earliest create_time of the app's backend orders that the range
-- [$2, $3) can see (placed, paid or changed status in it; a superset of
-- all_orders' backend_in_range), NULL when there is none.
SELECT min(create_time)
FROM orders
WHERE app_id = $1 AND NOT is_deleted AND create_time < $3
  AND (create_time >= $2 OR paid_time >= $2 OR status_change_time >= $2)
