-- How long did order X take end to end? A floor: the work the driver injected into its attempts (an attempt lost to
-- a crash may have been cut short, so it is left out); waits for timeouts, backoff, signals and timers come on top.
SELECT order_id, sum(work_ms) AS floor_ms
FROM ground_truth_attempts
WHERE outcome <> 'lost'
GROUP BY order_id;
