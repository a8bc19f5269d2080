-- How many bytes does history keep for order X? Every column's value as text (a timestamp as its 8 bytes),
-- summed over the order's and its invoice's events.
SELECT substr(workflow_id, strpos(workflow_id, '-') + 1) AS order_id, sum(bytes) AS bytes
FROM (
    SELECT workflow_id, sum(strlen(concat(*COLUMNS(* EXCLUDE (event_time))))) + 8 * count(event_time) AS bytes
    FROM history_events
    WHERE (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%')
    GROUP BY 1
)
GROUP BY 1;
