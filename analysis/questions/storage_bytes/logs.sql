-- How many bytes do logs keep for order X? Its log records as JSON.
SELECT regexp_extract(workflow_id, '^(?:order|invoice)-(.+)$', 1) AS order_id,
       sum(strlen(CAST(to_json(l) AS VARCHAR))) AS bytes
FROM logs l
WHERE regexp_matches(workflow_id, '^(order|invoice)-')
GROUP BY 1;
