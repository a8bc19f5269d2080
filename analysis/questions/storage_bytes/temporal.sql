-- How many bytes does history keep for order X? Every column's value as text (a timestamp as its 8 bytes),
-- summed over the order's and its invoice's events.
-- Temporal in place: the run's history as `temporal workflow show` and the Web UI present it, read one run at
-- a time: every row comes from one run's events; nothing is joined or added up across runs.
SELECT substr(workflow_id, strpos(workflow_id, '-') + 1) AS order_id, sum(bytes) AS bytes
FROM (
    SELECT workflow_id, sum(strlen(concat(*COLUMNS(* EXCLUDE (event_time))))) + 8 * count(event_time) AS bytes
    FROM history_events
    WHERE (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%')
    GROUP BY 1
)
GROUP BY 1;
