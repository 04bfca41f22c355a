-- Volume by channel: customers' messages a day on each platform over the last 30 days, and the
-- share of them that was negative.
SELECT day,
       platform,
       count(DISTINCT interaction_ref) AS messages,
       round(100.0 * count(DISTINCT CASE WHEN sentiment = 'NEGATIVE' THEN interaction_ref END)
             / count(DISTINCT interaction_ref), 1) AS negative_pct
FROM interactions
WHERE dt >= CAST(CAST(current_date - INTERVAL '30' DAY AS date) AS varchar)
  AND direction = 'inbound'
  AND action = 'created'
GROUP BY day, platform
ORDER BY day, platform;
