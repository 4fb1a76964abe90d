-- Settings become engine-neutral: a JSON object of setting name -> text, in
-- the names the faces use (`wordpress.image`, `replicas`), so each engine
-- brings its own keys. Rows written before stored the WooCommerce fields
-- (`wordpress_image`, numeric `replicas`): rewrite them once, everywhere
-- settings are kept. Keys are always lower-case words joined by '_', so
-- each '_' becomes the '.' of the setting's name.
CREATE FUNCTION pg_temp.neutral_settings(s jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(
        jsonb_object_agg(
            replace(k, '_', '.'),
            CASE jsonb_typeof(v) WHEN 'string' THEN v ELSE to_jsonb(v #>> '{}') END
        ),
        '{}'::jsonb)
    FROM jsonb_each(CASE jsonb_typeof(s) WHEN 'object' THEN s ELSE '{}'::jsonb END) AS e(k, v)
$$;

UPDATE stores SET settings = pg_temp.neutral_settings(settings)
WHERE settings <> pg_temp.neutral_settings(settings);

UPDATE store_revisions SET settings = pg_temp.neutral_settings(settings)
WHERE settings <> pg_temp.neutral_settings(settings);

UPDATE operations
SET params = jsonb_set(params, '{settings}', pg_temp.neutral_settings(params -> 'settings'))
WHERE params ? 'settings'
  AND params -> 'settings' <> pg_temp.neutral_settings(params -> 'settings');
