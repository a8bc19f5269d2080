-- How many bytes do history-derived spans take for order X? Every column's value as text (a timestamp as its 8 bytes),
-- summed over its synthesized spans.
SELECT substr(workflow_id, strpos(workflow_id, '-') + 1) AS order_id, sum(bytes) AS bytes
FROM (
    SELECT workflow_id,
           sum(strlen(concat(*COLUMNS(* EXCLUDE (start_time, end_time))))) + 8 * (count(start_time) + count(end_time)) AS bytes
    FROM spans
    WHERE source = 'history' AND (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%')
    GROUP BY 1
)
GROUP BY 1;
