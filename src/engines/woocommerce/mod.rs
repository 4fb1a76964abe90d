//! WordPress + WooCommerce (charts/woocommerce): WordPress with its
//! wp-content on a volume, MariaDB in a StatefulSet, a setup step that
//! installs WooCommerce, and wp-cli for incidents.

pub mod shell;

use super::{
    Admin, AdminUser, Backup, CloneRewrite, Count, DataPart, Engine, EngineKind, Key, KeyKind, MI,
    RunningStep, SecretKey,
};

/// The chart's own requests are 100m CPU and 256Mi of memory per container,
/// and a limit below its request is refused by Kubernetes: those are the floors.
const KEYS: &[Key] = &[
    Key {
        name: "wordpress.image",
        doc: "WordPress image tag, e.g. 6.8.3-php8.3-apache",
        kind: KeyKind::ImageTag,
        paths: &[&["wordpress", "image", "tag"]],
    },
    Key {
        name: "database.image",
        doc: "MariaDB image tag, e.g. 11.4",
        kind: KeyKind::ImageTag,
        paths: &[&["database", "image", "tag"]],
    },
    Key {
        name: "wordpress.cpu",
        doc: "WordPress CPU limit, e.g. 500m or 2 (at least 100m)",
        kind: KeyKind::Cpu,
        paths: &[&["wordpress", "resources", "limits", "cpu"]],
    },
    Key {
        name: "wordpress.memory",
        doc: "WordPress memory limit, e.g. 1Gi (at least 256Mi)",
        kind: KeyKind::Memory(256 * MI),
        paths: &[&["wordpress", "resources", "limits", "memory"]],
    },
    Key {
        name: "database.cpu",
        doc: "database CPU limit, e.g. 1 (at least 100m)",
        kind: KeyKind::Cpu,
        paths: &[&["database", "resources", "limits", "cpu"]],
    },
    Key {
        name: "database.memory",
        doc: "database memory limit, e.g. 2Gi (at least 256Mi)",
        kind: KeyKind::Memory(256 * MI),
        paths: &[&["database", "resources", "limits", "memory"]],
    },
    Key {
        name: "wordpress.volume",
        doc: "size of the wp-content volume, e.g. 5Gi (grow only)",
        kind: KeyKind::Volume { statefulset: false },
        paths: &[&["wordpress", "persistence", "size"]],
    },
    Key {
        name: "database.volume",
        doc: "size of the database volume, e.g. 5Gi (grow only)",
        kind: KeyKind::Volume { statefulset: true },
        paths: &[&["database", "persistence", "size"]],
    },
    Key {
        name: "replicas",
        doc: "1 runs the storefront, 0 pauses it (data kept)",
        kind: KeyKind::Replicas,
        paths: &[&["wordpress", "replicas"]],
    },
];

/// WordPress's salts are 64 characters, the passwords 32.
const SECRET_KEYS: &[SecretKey] = &[
    SecretKey {
        name: "db-root-password",
        len: 32,
    },
    SecretKey {
        name: "db-password",
        len: 32,
    },
    SecretKey {
        name: "admin-password",
        len: 32,
    },
    SecretKey {
        name: "wp-auth-key",
        len: 64,
    },
    SecretKey {
        name: "wp-secure-auth-key",
        len: 64,
    },
    SecretKey {
        name: "wp-logged-in-key",
        len: 64,
    },
    SecretKey {
        name: "wp-nonce-key",
        len: 64,
    },
    SecretKey {
        name: "wp-auth-salt",
        len: 64,
    },
    SecretKey {
        name: "wp-secure-auth-salt",
        len: 64,
    },
    SecretKey {
        name: "wp-logged-in-salt",
        len: 64,
    },
    SecretKey {
        name: "wp-nonce-salt",
        len: 64,
    },
];

pub static ENGINE: Engine = Engine {
    kind: EngineKind::Woocommerce,
    title: "WooCommerce",
    aliases: &["wordpress", "woo"],
    summary: "WordPress + WooCommerce with MariaDB",
    chart: "woocommerce",
    keys: KEYS,
    example_setting: "wordpress.image=6.8.3-php8.3-apache",
    secret_keys: SECRET_KEYS,
    admin: Admin {
        what: "WordPress admin",
        // The chart's store.adminUser default.
        user: AdminUser::Name("admin"),
        path: "/wp-admin/",
        password_key: "admin-password",
    },
    main_component: "wordpress",
    main_container: "wordpress",
    shell: Some(shell::SHELL),
    backup: BACKUP,
};

/// The database with mariadb-dump in one transaction (InnoDB: a consistent
/// snapshot without locking the shop), as root through MYSQL_PWD; written
/// back into a database dropped and created again, so tables made after
/// the backup go too. wp-content as a tar.
const BACKUP: Backup = Backup {
    database: DataPart {
        component: "database",
        container: "mariadb",
        dump: "export MYSQL_PWD=\"$MARIADB_ROOT_PASSWORD\"; \
               mariadb-dump -uroot --single-transaction --quick --routines --triggers --events \
               --databases \"$MARIADB_DATABASE\" | gzip -1c",
        restore: "export MYSQL_PWD=\"$MARIADB_ROOT_PASSWORD\"; \
                  mariadb -uroot -e \"DROP DATABASE IF EXISTS \\`$MARIADB_DATABASE\\`\"; \
                  gunzip -c | mariadb -uroot",
    },
    files: Some(DataPart {
        component: "wordpress",
        container: "wordpress",
        dump: "tar -C /var/www/html/wp-content -cf - . | gzip -1c",
        // "./" itself is not extracted (--strip-components=1): the volume
        // root is not the shop's to chmod.
        restore: "find /var/www/html/wp-content -mindepth 1 -delete; \
                  gunzip -c | tar -C /var/www/html/wp-content --strip-components=1 -xf -",
    }),
    pause: &["wordpress"],
    counts: &[Count {
        name: "orders",
        // Each order once: legacy orders are posts, HPOS ones keep a
        // placeholder post. A WordPress not installed yet has no orders.
        command: "export MYSQL_PWD=\"$MARIADB_ROOT_PASSWORD\"; \
                  q() { mariadb -uroot -N \"$MARIADB_DATABASE\" -e \"$1\"; }; \
                  if [ \"$(q \"SELECT COUNT(*) FROM information_schema.tables \
                  WHERE table_schema = DATABASE() AND table_name = 'wp_posts'\")\" = 1 ]; then \
                  q \"SELECT COUNT(*) FROM wp_posts WHERE post_type IN ('shop_order', 'shop_order_placehold')\"; \
                  else echo 0; fi",
    }],
    clone: CLONE,
};

/// A clone's WordPress answers on its own address: `siteurl` and `home`
/// set in the database before the shop resumes (so its first request does
/// not redirect to the source). Its admin (the source's, by e-mail) gets
/// the clone's admin e-mail and no password: no one signs in with the
/// source's, and the chart's setup step gives the admin the clone's own
/// password from its Secret at the start that follows. Then, once it runs,
/// wp-cli's
/// search-replace of the source's URL by the clone's in every table
/// (serialized values too; GUIDs are left, as WordPress asks) where the
/// chart's setup step left wp-cli. Without wp-cli (the sandbox's setup
/// image has none) only `siteurl` and `home` change. A database without
/// WordPress's tables (not installed yet) is left as it is.
const CLONE: CloneRewrite = CloneRewrite {
    database: "export MYSQL_PWD=\"$MARIADB_ROOT_PASSWORD\"; \
               q() { mariadb -uroot -N \"$MARIADB_DATABASE\" -e \"$1\"; }; \
               if [ \"$(q \"SELECT COUNT(*) FROM information_schema.tables \
               WHERE table_schema = DATABASE() AND table_name = 'wp_options'\")\" = 1 ]; then \
               q \"UPDATE wp_options SET option_value = '$NEW_URL' WHERE option_name IN ('siteurl', 'home')\"; \
               fi; \
               if [ \"$(q \"SELECT COUNT(*) FROM information_schema.tables \
               WHERE table_schema = DATABASE() AND table_name = 'wp_users'\")\" = 1 ]; then \
               q \"UPDATE wp_users SET user_pass = '', user_email = '$NEW_ADMIN_EMAIL' \
               WHERE user_email = '$OLD_ADMIN_EMAIL'\"; \
               fi",
    running: Some(RunningStep {
        component: "wordpress",
        container: "wordpress",
        command: "wp() { php /opt/wp-cli/wp --path=/var/www/html \"$@\"; }; \
                  if [ -s /opt/wp-cli/wp ] && wp core is-installed >/dev/null 2>&1; then \
                  wp search-replace \"$OLD_URL\" \"$NEW_URL\" --all-tables --skip-columns=guid \
                  --format=count; wp cache flush >/dev/null; else echo skipped; fi",
    }),
};
