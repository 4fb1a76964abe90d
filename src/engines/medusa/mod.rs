//! MedusaJS (charts/medusa): the Medusa server and its worker, a small
//! storefront, PostgreSQL in a StatefulSet and Redis. One image runs the
//! server, the worker, the storefront and the migrations (medusa/).
//! No incident shell: Medusa's CLI runs code and changes data; what an
//! operator needs goes through its Admin API with the revealed login.

use super::{
    Admin, AdminUser, Backup, CloneRewrite, Count, DataPart, Engine, EngineKind, Key, KeyKind, MI,
    SecretKey,
};

/// The server idles at ~440 MB resident: below 512Mi it is killed at start.
const KEYS: &[Key] = &[
    Key {
        name: "medusa.image",
        doc: "Medusa image tag (server, worker, storefront), e.g. 2.21.2",
        kind: KeyKind::ImageTag,
        paths: &[&["medusa", "image", "tag"]],
    },
    Key {
        name: "database.image",
        doc: "PostgreSQL image tag, e.g. 15",
        kind: KeyKind::ImageTag,
        paths: &[&["postgres", "image", "tag"]],
    },
    Key {
        name: "server.cpu",
        doc: "Medusa server CPU limit, e.g. 1 (at least 100m)",
        kind: KeyKind::Cpu,
        paths: &[&["server", "resources", "limits", "cpu"]],
    },
    Key {
        name: "server.memory",
        doc: "Medusa server memory limit, e.g. 1Gi (at least 512Mi)",
        kind: KeyKind::Memory(512 * MI),
        paths: &[&["server", "resources", "limits", "memory"]],
    },
    Key {
        name: "worker.cpu",
        doc: "Medusa worker CPU limit, e.g. 1 (at least 100m)",
        kind: KeyKind::Cpu,
        paths: &[&["worker", "resources", "limits", "cpu"]],
    },
    Key {
        name: "worker.memory",
        doc: "Medusa worker memory limit, e.g. 1Gi (at least 512Mi)",
        kind: KeyKind::Memory(512 * MI),
        paths: &[&["worker", "resources", "limits", "memory"]],
    },
    Key {
        name: "database.cpu",
        doc: "database CPU limit, e.g. 1 (at least 100m)",
        kind: KeyKind::Cpu,
        paths: &[&["postgres", "resources", "limits", "cpu"]],
    },
    Key {
        name: "database.memory",
        doc: "database memory limit, e.g. 1Gi (at least 256Mi)",
        kind: KeyKind::Memory(256 * MI),
        paths: &[&["postgres", "resources", "limits", "memory"]],
    },
    Key {
        name: "database.volume",
        doc: "size of the database volume, e.g. 5Gi (grow only)",
        kind: KeyKind::Volume { statefulset: true },
        paths: &[&["postgres", "persistence", "size"]],
    },
    Key {
        name: "uploads.volume",
        doc: "size of the uploads volume (product images), e.g. 5Gi (grow only)",
        kind: KeyKind::Volume { statefulset: false },
        paths: &[&["server", "uploads", "size"]],
    },
    Key {
        name: "replicas",
        doc: "1 runs the store, 0 pauses it (data kept)",
        kind: KeyKind::Replicas,
        paths: &[
            &["server", "replicas"],
            &["worker", "replicas"],
            &["storefront", "replicas"],
        ],
    },
];

const SECRET_KEYS: &[SecretKey] = &[
    SecretKey {
        name: "db-password",
        len: 32,
    },
    SecretKey {
        name: "admin-password",
        len: 32,
    },
    SecretKey {
        name: "jwt-secret",
        len: 48,
    },
    SecretKey {
        name: "cookie-secret",
        len: 48,
    },
];

pub static ENGINE: Engine = Engine {
    kind: EngineKind::Medusa,
    title: "Medusa",
    aliases: &["medusajs"],
    summary: "MedusaJS server, worker and storefront with PostgreSQL and Redis",
    chart: "medusa",
    keys: KEYS,
    example_setting: "medusa.image=2.21.2",
    secret_keys: SECRET_KEYS,
    admin: Admin {
        what: "Medusa admin",
        user: AdminUser::Email,
        path: "/app",
        password_key: "admin-password",
    },
    main_component: "server",
    main_container: "medusa",
    shell: None,
    backup: BACKUP,
};

/// pg_dump as the database's owner over TCP (the password through
/// PGPASSWORD), written back into a fresh public schema; the uploads
/// directory as a tar.
const BACKUP: Backup = Backup {
    database: DataPart {
        component: "postgres",
        container: "postgres",
        dump: "export PGPASSWORD=\"$POSTGRES_PASSWORD\"; \
               pg_dump -h 127.0.0.1 -U \"$POSTGRES_USER\" --no-owner --no-privileges \"$POSTGRES_DB\" \
               | gzip -1c",
        restore: "export PGPASSWORD=\"$POSTGRES_PASSWORD\"; \
                  psql -h 127.0.0.1 -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\" -v ON_ERROR_STOP=1 -q \
                  -c 'DROP SCHEMA IF EXISTS public CASCADE' -c 'CREATE SCHEMA public'; \
                  gunzip -c | psql -h 127.0.0.1 -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\" \
                  -v ON_ERROR_STOP=1 -q --single-transaction >/dev/null",
    },
    files: Some(DataPart {
        component: "server",
        container: "medusa",
        dump: "tar -C /app/server/static -cf - . | gzip -1c",
        // "./" itself is not extracted (--strip-components=1): the volume
        // root is not the shop's to chmod.
        restore: "find /app/server/static -mindepth 1 -delete; \
                  gunzip -c | tar -C /app/server/static --strip-components=1 -xf -",
    }),
    pause: &["server", "worker", "storefront"],
    counts: &[Count {
        name: "orders",
        command: "export PGPASSWORD=\"$POSTGRES_PASSWORD\"; \
                  psql -h 127.0.0.1 -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\" -tAc 'SELECT count(*) FROM \"order\"'",
    }],
    clone: CLONE,
};

/// A clone's database, before its server starts: the sign-ins of the
/// source's admin and of the clone's own (the same address when one owner
/// has both) are removed, so the setup step at the server's start
/// registers the clone's admin again with the clone's own password (it
/// leaves an existing sign-in alone); product images stored under the
/// source's URL point at the clone's. The publishable key and the sales
/// channel come with the database: the storefront reads them from the
/// server (`/storefront-config`), and the setup step renames the store.
const CLONE: CloneRewrite = CloneRewrite {
    database: "export PGPASSWORD=\"$POSTGRES_PASSWORD\"; \
               psql -h 127.0.0.1 -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\" -v ON_ERROR_STOP=1 -q \
               --single-transaction -c \"DELETE FROM auth_identity WHERE id IN \
               (SELECT auth_identity_id FROM provider_identity WHERE provider = 'emailpass' \
               AND lower(entity_id) IN (lower('$OLD_ADMIN_EMAIL'), lower('$NEW_ADMIN_EMAIL')))\" \
               -c \"UPDATE image SET url = replace(url, '$OLD_URL', '$NEW_URL') \
               WHERE strpos(url, '$OLD_URL') > 0\" \
               -c \"UPDATE product SET thumbnail = replace(thumbnail, '$OLD_URL', '$NEW_URL') \
               WHERE strpos(thumbnail, '$OLD_URL') > 0\"",
    running: None,
};
