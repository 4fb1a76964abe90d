<?php
/**
 * Plugin Name: Store Weaver platform
 * Description: Makes a Store Weaver store work inside its pod: scheduled work (WP-Cron, WooCommerce's Action Scheduler) reaches Apache's real port, mail leaves through the configured SMTP relay, and Google Fonts can be turned off. Installed by the chart at every pod start; edits are overwritten.
 *
 * Configured only through environment variables that the chart sets on the
 * WordPress container (never through options a merchant could change):
 *   STORE_WEAVER_LOOPBACK_URL  Apache inside the pod, e.g. http://127.0.0.1:8080
 *   STORE_WEAVER_SMTP_HOST, _PORT, _ENCRYPTION (tls|ssl|none), _USER,
 *   STORE_WEAVER_SMTP_PASSWORD (from a Secret), _FROM, _FROM_NAME
 *   STORE_WEAVER_GOOGLE_FONTS  "false" keeps the browser from fetching Google Fonts
 *
 * @package store-weaver
 */

defined( 'ABSPATH' ) || exit;

// ------------------------------------------------------------ pure helpers
// No WordPress calls in these: tests/mu-plugin-test.php runs them under php-cli.

/**
 * Where a request WordPress makes to its own public URL must go instead.
 *
 * WordPress starts WP-Cron (and Action Scheduler its async queue runner, and
 * Site Health its loopback checks) with an HTTP request to its own site URL:
 * http://<slug>.localhost (port 80) or https://<public host>. Inside the pod
 * neither reaches Apache, which listens on 8080; the request fails silently
 * and scheduled work never runs. Such a request is sent to the loopback URL
 * with the store's Host header instead (and X-Forwarded-Proto: https when the
 * store is served over https, so WordPress sees the scheme its users see).
 *
 * @param string $url      The URL being requested.
 * @param string $home     The store's home URL.
 * @param string $loopback Apache inside the pod, "" for none.
 * @return array|null      ['url' => ..., 'headers' => [...]] or null to leave the request alone.
 */
function store_weaver_loopback_target( $url, $home, $loopback ) {
	if ( '' === (string) $loopback ) {
		return null;
	}
	$u = parse_url( (string) $url );
	$h = parse_url( (string) $home );
	$l = parse_url( (string) $loopback );
	if ( ! is_array( $u ) || ! is_array( $h ) || ! is_array( $l ) || empty( $u['host'] ) || empty( $h['host'] ) || empty( $l['host'] ) ) {
		return null;
	}
	if ( strtolower( $u['host'] ) !== strtolower( $h['host'] ) ) {
		return null;
	}
	$scheme  = isset( $u['scheme'] ) ? strtolower( $u['scheme'] ) : 'http';
	$default = 'https' === $scheme ? 443 : 80;
	// Only the store's public address; an explicit other port is someone else.
	if ( isset( $u['port'] ) && (int) $u['port'] !== $default ) {
		return null;
	}
	$target = ( isset( $l['scheme'] ) ? $l['scheme'] : 'http' ) . '://' . $l['host'] . ( isset( $l['port'] ) ? ':' . $l['port'] : '' );
	$target .= isset( $u['path'] ) ? $u['path'] : '/';
	$target .= isset( $u['query'] ) ? '?' . $u['query'] : '';
	$headers = array( 'Host' => $u['host'] );
	if ( 'https' === $scheme ) {
		$headers['X-Forwarded-Proto'] = 'https';
	}
	return array(
		'url'     => $target,
		'headers' => $headers,
	);
}

/**
 * Request headers as an array, whatever form the caller gave them in.
 *
 * @param mixed $headers Array, "Name: value" lines, or nothing.
 * @return array
 */
function store_weaver_headers_array( $headers ) {
	if ( is_array( $headers ) ) {
		return $headers;
	}
	$out = array();
	foreach ( preg_split( '/\r?\n/', (string) $headers ) as $line ) {
		$parts = explode( ':', $line, 2 );
		if ( 2 === count( $parts ) && '' !== trim( $parts[0] ) ) {
			$out[ trim( $parts[0] ) ] = trim( $parts[1] );
		}
	}
	return $out;
}

/**
 * The SMTP relay from the environment, or null when mail is not configured.
 *
 * @param array $env Variable name => value (getenv() in production).
 * @return array|null
 */
function store_weaver_smtp_config( array $env ) {
	$get  = function ( $name, $default = '' ) use ( $env ) {
		return isset( $env[ $name ] ) && false !== $env[ $name ] ? trim( (string) $env[ $name ] ) : $default;
	};
	$host = $get( 'STORE_WEAVER_SMTP_HOST' );
	if ( '' === $host ) {
		return null;
	}
	$encryption = strtolower( $get( 'STORE_WEAVER_SMTP_ENCRYPTION', 'tls' ) );
	if ( ! in_array( $encryption, array( 'tls', 'ssl', 'none' ), true ) ) {
		$encryption = 'tls';
	}
	$port = (int) $get( 'STORE_WEAVER_SMTP_PORT', 'ssl' === $encryption ? '465' : '587' );
	$user = $get( 'STORE_WEAVER_SMTP_USER' );
	return array(
		'host'       => $host,
		'port'       => $port > 0 ? $port : 587,
		'encryption' => $encryption,
		'user'       => $user,
		// Not trimmed: a password may end in a space.
		'password'   => isset( $env['STORE_WEAVER_SMTP_PASSWORD'] ) ? (string) $env['STORE_WEAVER_SMTP_PASSWORD'] : '',
		'from'       => $get( 'STORE_WEAVER_SMTP_FROM' ),
		'from_name'  => $get( 'STORE_WEAVER_SMTP_FROM_NAME' ),
	);
}

/**
 * Points PHPMailer at the relay.
 *
 * @param object $mailer PHPMailer\PHPMailer\PHPMailer.
 * @param array  $smtp   From store_weaver_smtp_config().
 */
function store_weaver_configure_mailer( $mailer, array $smtp ) {
	$mailer->isSMTP();
	$mailer->Host        = $smtp['host'];
	$mailer->Port        = $smtp['port'];
	$mailer->SMTPSecure  = 'none' === $smtp['encryption'] ? '' : $smtp['encryption'];
	// "none" means none: no opportunistic STARTTLS either (a relay on a private
	// network with a certificate PHP cannot verify would fail every mail).
	$mailer->SMTPAutoTLS = 'none' !== $smtp['encryption'];
	$mailer->SMTPAuth    = '' !== $smtp['user'];
	if ( $mailer->SMTPAuth ) {
		$mailer->Username = $smtp['user'];
		$mailer->Password = $smtp['password'];
	}
	if ( '' !== $smtp['from'] ) {
		$mailer->setFrom( $smtp['from'], '' !== $smtp['from_name'] ? $smtp['from_name'] : $mailer->FromName, false );
	}
}

/**
 * Whether a URL fetches from Google Fonts.
 *
 * @param string $url Stylesheet or resource-hint URL.
 * @return bool
 */
function store_weaver_is_google_fonts_url( $url ) {
	$url  = (string) $url;
	$host = parse_url( 0 === strpos( $url, '//' ) ? 'https:' . $url : $url, PHP_URL_HOST );
	return is_string( $host ) && in_array( strtolower( $host ), array( 'fonts.googleapis.com', 'fonts.gstatic.com' ), true );
}

/**
 * The last mails, newest last, at most $keep of them.
 *
 * @param mixed $log   The stored log (anything; a broken option is reset).
 * @param array $entry The new entry.
 * @param int   $keep  How many to keep.
 * @return array
 */
function store_weaver_mail_log_append( $log, array $entry, $keep = 20 ) {
	$log   = is_array( $log ) ? array_values( $log ) : array();
	$log[] = $entry;
	return array_slice( $log, -$keep );
}

// ------------------------------------------------------------------ wiring

/** The chart's settings: environment variables of the WordPress container. */
function store_weaver_env( $name ) {
	$value = getenv( $name );
	return false === $value ? '' : $value;
}

// 1. Scheduled work: requests to the store's own URL go to Apache in the pod.
add_filter(
	'pre_http_request',
	function ( $preempt, $args, $url ) {
		if ( false !== $preempt ) {
			return $preempt;
		}
		$target = store_weaver_loopback_target( $url, home_url( '/' ), store_weaver_env( 'STORE_WEAVER_LOOPBACK_URL' ) );
		if ( null === $target ) {
			return $preempt;
		}
		$args            = is_array( $args ) ? $args : array();
		$args['headers'] = array_merge( store_weaver_headers_array( isset( $args['headers'] ) ? $args['headers'] : array() ), $target['headers'] );
		// The loopback URL's host is not the store's: this filter passes it through.
		return wp_remote_request( $target['url'], $args );
	},
	10,
	3
);

// 2. Mail: through the relay when one is configured; every outcome recorded
//    (option store_weaver_mail_log, and failures in the container log) so an
//    operator can tell "sent" from "lost".
/** The SMTP settings the chart may set, from the environment. */
function store_weaver_smtp_env() {
	$env = array();
	foreach ( array( 'HOST', 'PORT', 'ENCRYPTION', 'USER', 'PASSWORD', 'FROM', 'FROM_NAME' ) as $key ) {
		$env[ 'STORE_WEAVER_SMTP_' . $key ] = store_weaver_env( 'STORE_WEAVER_SMTP_' . $key );
	}
	return $env;
}

add_action(
	'phpmailer_init',
	function ( $mailer ) {
		$smtp = store_weaver_smtp_config( store_weaver_smtp_env() );
		if ( null !== $smtp ) {
			store_weaver_configure_mailer( $mailer, $smtp );
		}
	}
);

/**
 * Whether this process is the setup step (setup-store.sh exports
 * STORE_WEAVER_STEP=setup). That init container has no relay settings even
 * when the store's mail is on, so it sends no mail at all.
 */
function store_weaver_in_setup() {
	return 'setup' === store_weaver_env( 'STORE_WEAVER_STEP' );
}

/** Records one mail's outcome (recipients counted, never listed). */
function store_weaver_record_mail( $ok, $to, $subject, $error ) {
	if ( store_weaver_in_setup() ) {
		$via = 'setup';
	} else {
		$via = '' !== store_weaver_env( 'STORE_WEAVER_SMTP_HOST' ) ? 'smtp' : 'none';
	}
	$entry = array(
		'time'       => gmdate( 'c' ),
		'ok'         => (bool) $ok,
		'recipients' => is_array( $to ) ? count( $to ) : count( array_filter( explode( ',', (string) $to ) ) ),
		'subject'    => (string) $subject,
		'via'        => $via,
	);
	if ( ! $ok ) {
		$entry['error'] = (string) $error;
	}
	update_option( 'store_weaver_mail_log', store_weaver_mail_log_append( get_option( 'store_weaver_mail_log', array() ), $entry ), false );
}

add_action(
	'wp_mail_succeeded',
	function ( $mail ) {
		store_weaver_record_mail( true, isset( $mail['to'] ) ? $mail['to'] : array(), isset( $mail['subject'] ) ? $mail['subject'] : '', '' );
	}
);

add_action(
	'wp_mail_failed',
	function ( $error ) {
		$data    = is_object( $error ) && method_exists( $error, 'get_error_data' ) ? $error->get_error_data() : array();
		$message = is_object( $error ) && method_exists( $error, 'get_error_message' ) ? $error->get_error_message() : 'unknown error';
		$subject = is_array( $data ) && isset( $data['subject'] ) ? $data['subject'] : '';
		store_weaver_record_mail( false, is_array( $data ) && isset( $data['to'] ) ? $data['to'] : array(), $subject, $message );
		$hint = '' === store_weaver_env( 'STORE_WEAVER_SMTP_HOST' )
			? ' (mail is off for this store: set smtp.enabled, smtp.host and smtp.from in the store chart values)'
			: '';
		if ( store_weaver_in_setup() ) {
			$hint = ' (' . STORE_WEAVER_SETUP_NO_MAIL . ')';
		}
		error_log( sprintf( 'store-weaver: mail "%s" not sent: %s%s', $subject, $message, $hint ) );
	}
);

// The setup step does not try at all: whether the store's mail is on or
// off, its own mails (WooCommerce's during install) are recorded and logged
// as the setup step's, not blamed on a missing relay.
const STORE_WEAVER_SETUP_NO_MAIL = 'the setup step sends no mail; the store sends its mail from the WordPress container, through the relay when smtp.enabled is set';
add_filter(
	'pre_wp_mail',
	function ( $preempt, $atts ) {
		if ( null !== $preempt || ! store_weaver_in_setup() ) {
			return $preempt;
		}
		$atts    = is_array( $atts ) ? $atts : array();
		$subject = isset( $atts['subject'] ) ? (string) $atts['subject'] : '';
		store_weaver_record_mail( false, isset( $atts['to'] ) ? $atts['to'] : array(), $subject, STORE_WEAVER_SETUP_NO_MAIL );
		error_log( sprintf( 'store-weaver: mail "%s" not sent: %s', $subject, STORE_WEAVER_SETUP_NO_MAIL ) );
		return false;
	},
	10,
	2
);

// 3. Google Fonts: off when the chart says so (privacy: every shopper's
//    browser would otherwise contact Google). Storefront's own list emptied,
//    and any stylesheet or resource hint on Google's font hosts dropped, so a
//    plugin or a later Storefront cannot bring them back.
if ( 'false' === strtolower( store_weaver_env( 'STORE_WEAVER_GOOGLE_FONTS' ) ) ) {
	add_filter( 'storefront_google_font_families', '__return_empty_array' );
	add_filter(
		'style_loader_src',
		function ( $src ) {
			return store_weaver_is_google_fonts_url( $src ) ? false : $src;
		},
		99
	);
	add_filter(
		'wp_resource_hints',
		function ( $urls ) {
			return array_values(
				array_filter(
					(array) $urls,
					function ( $hint ) {
						$href = is_array( $hint ) ? ( isset( $hint['href'] ) ? $hint['href'] : '' ) : $hint;
						return ! store_weaver_is_google_fonts_url( $href );
					}
				)
			);
		},
		99
	);
}
