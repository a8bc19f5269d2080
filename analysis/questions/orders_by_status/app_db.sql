-- How many orders ended in each status? GROUP BY on the orders table.
SELECT status, count(*) AS orders FROM app_orders GROUP BY 1;
