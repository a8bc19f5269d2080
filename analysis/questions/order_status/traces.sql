-- Did order X complete, and with what final status? The workflow-run span's outcome and error: spans know whether
-- the workflow failed and why, but a workflow that ends normally with a business status looks plainly completed.
-- (arg_max_null: the latest row's value even where it is NULL, which arg_max would skip; a row without a time
-- counts as the oldest, as ordering by time put it last.)
SELECT CASE WHEN workflow_id LIKE 'order-%' THEN substr(workflow_id, 7) ELSE workflow_id END AS order_id,
       arg_max_null(CASE
           WHEN outcome = 'completed' THEN 'completed'
           WHEN status_message LIKE '%payment declined%' THEN 'payment_declined'
           WHEN status_message LIKE '%out of stock%' THEN 'out_of_stock'
           ELSE outcome
       END, coalesce(end_time, '-infinity')) AS status
FROM spans
WHERE name = 'RunWorkflow:OrderWorkflow' AND workflow_id LIKE 'order-%' AND source <> 'history'
GROUP BY workflow_id;
