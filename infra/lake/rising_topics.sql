-- Rising topics: mentions in the last 7 days against the weekly average of the 28 days before
-- (each hour's latest count: the topics of recent hours are counted again every 15 minutes).
WITH hourly AS (
    SELECT day, hour, topic, max_by(mentions, counted_at) AS mentions, max_by(negative, counted_at) AS negative
    FROM topics
    WHERE dt >= CAST(CAST(current_date - INTERVAL '35' DAY AS date) AS varchar)
    GROUP BY day, hour, topic
), weekly AS (
    SELECT topic,
           sum(CASE WHEN day >= CAST(CAST(current_date - INTERVAL '7' DAY AS date) AS varchar)
                    THEN mentions ELSE 0 END) AS last_7_days,
           sum(CASE WHEN day >= CAST(CAST(current_date - INTERVAL '7' DAY AS date) AS varchar)
                    THEN negative ELSE 0 END) AS negative_7_days,
           sum(CASE WHEN day < CAST(CAST(current_date - INTERVAL '7' DAY AS date) AS varchar)
                    THEN mentions ELSE 0 END) / 4.0 AS weekly_before
    FROM hourly
    GROUP BY topic
)
SELECT topic, last_7_days, negative_7_days, round(weekly_before, 1) AS weekly_before,
       round(last_7_days / (weekly_before + 1.0), 2) AS rise
FROM weekly
WHERE last_7_days >= 5
ORDER BY rise DESC, last_7_days DESC, topic
LIMIT 20;
