//! WordPress + WooCommerce (charts/woocommerce): WordPress with its
//! wp-content on a volume, MariaDB in a StatefulSet, a setup step that
//! installs WooCommerce, and wp-cli for incidents.

pub mod shell;

use super::{Admin, AdminUser, Engine, EngineKind, Key, KeyKind, MI, SecretKey};

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
};
