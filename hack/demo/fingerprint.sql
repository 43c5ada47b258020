-- One line per table (row count + md5 of all rows in primary-key order), plus
-- the definitions of views and functions and the sequences' positions.
SELECT 'table ' || c.relname || ' rows=' || (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname), false, true, '')))[1]::text
       || ' md5=' || coalesce((xpath('/row/h/text()', query_to_xml(format('SELECT md5(string_agg(t::text, E''\n'' ORDER BY t::text)) AS h FROM %I t', c.relname), false, true, '')))[1]::text, 'empty')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r'
UNION ALL
SELECT 'view ' || viewname || ' md5=' || md5(definition) FROM pg_views WHERE schemaname = 'public'
UNION ALL
SELECT 'function ' || p.proname || ' md5=' || md5(pg_get_functiondef(p.oid)) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
UNION ALL
SELECT 'sequence ' || sequencename || ' last=' || coalesce(last_value::text, 'unused') FROM pg_sequences WHERE schemaname = 'public'
UNION ALL
SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal
ORDER BY 1;
