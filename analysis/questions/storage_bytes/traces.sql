-- How many bytes do traces keep for order X? Its spans as JSON (those naming the order's or its invoice's workflow).
SELECT regexp_extract(workflow_id, '^(?:order|invoice)-(.+)$', 1) AS order_id,
       sum(strlen(CAST(to_json(s) AS VARCHAR))) AS bytes
FROM spans s
WHERE source <> 'history' AND regexp_matches(workflow_id, '^(order|invoice)-')
GROUP BY 1;
