-- How many loyalty points does customer C hold? The loyalty workflow's `points` query, asked at the end (it goes to
-- the latest run of the continue-as-new chain).
SELECT CASE WHEN workflow_id LIKE 'loyalty-%' THEN substr(workflow_id, 9) ELSE workflow_id END AS customer, CAST(answer AS BIGINT) AS points
FROM temporal_observations
WHERE api = 'query' AND query_name = 'points' AND answered AND workflow_id LIKE 'loyalty-%'
QUALIFY row_number() OVER (PARTITION BY workflow_id ORDER BY observed_at DESC) = 1;
