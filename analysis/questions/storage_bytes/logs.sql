-- How many bytes do logs keep for order X? Every column's value as text (a timestamp as its 8 bytes),
-- summed over its log records.
SELECT substr(workflow_id, strpos(workflow_id, '-') + 1) AS order_id, sum(bytes) AS bytes
FROM (
    SELECT workflow_id, sum(strlen(concat(*COLUMNS(* EXCLUDE (time))))) + 8 * count(time) AS bytes
    FROM logs
    WHERE (workflow_id LIKE 'order-%' OR workflow_id LIKE 'invoice-%')
    GROUP BY 1
)
GROUP BY 1;
