<?php
/**
 * Tests files/store-weaver-mu.php under php-cli, without WordPress: the few
 * WordPress functions it calls are stand-ins below that record what happens.
 * Proves the pure helpers (loopback target, SMTP settings, Google Fonts
 * hosts, mail log) and the wiring: a WP-Cron request to the store's own URL
 * goes to Apache's port with the store's Host; PHPMailer gets the relay and
 * the password from the environment; fonts are dropped only when turned off;
 * a failed mail is recorded and logged with a hint.
 *
 * Run: php charts/woocommerce/tests/mu-plugin-test.php   (exit 0 = all passed)
 */

define( 'ABSPATH', __DIR__ . '/' );

$GLOBALS['hooks']    = array();
$GLOBALS['requests'] = array();
$GLOBALS['options']  = array();
$GLOBALS['home']     = 'http://acme.localhost/';
$GLOBALS['logged']   = array();

function add_filter( $hook, $callback, $priority = 10, $args = 1 ) {
	$GLOBALS['hooks'][ $hook ][] = $callback;
	return true;
}
function add_action( $hook, $callback, $priority = 10, $args = 1 ) {
	return add_filter( $hook, $callback, $priority, $args );
}
function home_url( $path = '' ) {
	return rtrim( $GLOBALS['home'], '/' ) . $path;
}
function wp_remote_request( $url, $args ) {
	$GLOBALS['requests'][] = array( $url, $args );
	return array( 'response' => array( 'code' => 200 ) );
}
function get_option( $name, $default = false ) {
	return array_key_exists( $name, $GLOBALS['options'] ) ? $GLOBALS['options'][ $name ] : $default;
}
function update_option( $name, $value, $autoload = null ) {
	$GLOBALS['options'][ $name ] = $value;
	return true;
}
function __return_empty_array() {
	return array();
}
/** Runs every callback of a filter the way apply_filters does. */
function run_filter( $hook, $value, ...$extra ) {
	foreach ( isset( $GLOBALS['hooks'][ $hook ] ) ? $GLOBALS['hooks'][ $hook ] : array() as $cb ) {
		$value = $cb( $value, ...$extra );
	}
	return $value;
}
function has_hook( $hook ) {
	return ! empty( $GLOBALS['hooks'][ $hook ] );
}

class Fake_Mailer {
	public $Host = 'localhost', $Port = 25, $SMTPSecure = '', $SMTPAutoTLS = true, $SMTPAuth = false;
	public $Username = '', $Password = '', $From = 'wordpress@acme.localhost', $FromName = 'WordPress', $Mailer = 'mail';
	public function isSMTP() {
		$this->Mailer = 'smtp';
	}
	public function setFrom( $address, $name = '', $auto = true ) {
		$this->From     = $address;
		$this->FromName = $name;
	}
}
class Fake_Error {
	private $message, $data;
	public function __construct( $message, $data ) {
		$this->message = $message;
		$this->data    = $data;
	}
	public function get_error_message() {
		return $this->message;
	}
	public function get_error_data() {
		return $this->data;
	}
}

$passed = 0;
$failed = 0;
function check( $what, $ok, $detail = null ) {
	global $passed, $failed;
	if ( $ok ) {
		$passed++;
		echo "ok   $what\n";
	} else {
		$failed++;
		fwrite( STDERR, "FAIL: $what" . ( null === $detail ? '' : ': ' . var_export( $detail, true ) ) . "\n" );
	}
}

function set_env( array $vars ) {
	foreach ( $vars as $k => $v ) {
		putenv( null === $v ? $k : "$k=$v" );
	}
}

// Google Fonts are decided when the plugin loads: the "fonts-off" part runs
// in a second php process (see the end).
$plugin = dirname( __DIR__ ) . '/files/store-weaver-mu.php';
if ( isset( $argv[1] ) && 'fonts-off' === $argv[1] ) {
	set_env( array( 'STORE_WEAVER_GOOGLE_FONTS' => 'false' ) );
	require $plugin;
	check( 'fonts off: Storefront\'s families emptied', array() === run_filter( 'storefront_google_font_families', array( 'source-sans-pro' => 'Source+Sans+Pro:400' ) ) );
	check( 'fonts off: a Google Fonts stylesheet is dropped', false === run_filter( 'style_loader_src', 'https://fonts.googleapis.com/css?family=&subset=latin', 'storefront-fonts' ) );
	check( 'fonts off: the store\'s own stylesheet stays', 'http://acme.localhost/s.css' === run_filter( 'style_loader_src', 'http://acme.localhost/s.css', 'storefront-style' ) );
	$hints = run_filter( 'wp_resource_hints', array( 'https://fonts.gstatic.com', array( 'href' => '//fonts.googleapis.com', 'crossorigin' ), 'https://s.w.org' ), 'preconnect' );
	check( 'fonts off: resource hints to Google dropped, others kept', array( 'https://s.w.org' ) === $hints, $hints );
	exit( 0 === $failed ? 0 : 1 );
}
set_env( array( 'STORE_WEAVER_GOOGLE_FONTS' => 'true', 'STORE_WEAVER_LOOPBACK_URL' => 'http://127.0.0.1:8080' ) );
ini_set( 'error_log', sys_get_temp_dir() . '/store-weaver-mu-test-' . getmypid() . '.log' );
require $plugin;

// ------------------------------------------------------------ pure helpers
$t = store_weaver_loopback_target( 'http://acme.localhost/wp-cron.php?doing_wp_cron=1.5', 'http://acme.localhost/', 'http://127.0.0.1:8080' );
check( 'loopback: the cron URL goes to Apache in the pod', 'http://127.0.0.1:8080/wp-cron.php?doing_wp_cron=1.5' === $t['url'], $t );
check( 'loopback: with the store Host', array( 'Host' => 'acme.localhost' ) === $t['headers'], $t );
$t = store_weaver_loopback_target( 'https://shop.example.com/wp-admin/admin-ajax.php?action=as_async_request_queue_runner', 'https://shop.example.com', 'http://127.0.0.1:8080' );
check( 'loopback: https store keeps its scheme as X-Forwarded-Proto', array( 'Host' => 'shop.example.com', 'X-Forwarded-Proto' => 'https' ) === $t['headers'], $t );
check( 'loopback: Action Scheduler\'s async runner too', 'http://127.0.0.1:8080/wp-admin/admin-ajax.php?action=as_async_request_queue_runner' === $t['url'], $t );
check( 'loopback: host compared without case', null !== store_weaver_loopback_target( 'http://ACME.localhost/wp-cron.php', 'http://acme.localhost', 'http://127.0.0.1:8080' ) );
check( 'loopback: another host is left alone', null === store_weaver_loopback_target( 'https://api.wordpress.org/plugins/', 'http://acme.localhost/', 'http://127.0.0.1:8080' ) );
check( 'loopback: another port on the host is left alone', null === store_weaver_loopback_target( 'http://acme.localhost:9000/x', 'http://acme.localhost/', 'http://127.0.0.1:8080' ) );
check( 'loopback: off without a loopback URL', null === store_weaver_loopback_target( 'http://acme.localhost/wp-cron.php', 'http://acme.localhost/', '' ) );
check( 'loopback: a URL without a path gets /', 'http://127.0.0.1:8080/' === store_weaver_loopback_target( 'http://acme.localhost', 'http://acme.localhost/', 'http://127.0.0.1:8080' )['url'] );
check( 'headers: string form parsed', array( 'A' => '1', 'B' => 'two: x' ) === store_weaver_headers_array( "A: 1\r\nB: two: x\n" ) );

check( 'smtp: no host, no relay', null === store_weaver_smtp_config( array( 'STORE_WEAVER_SMTP_USER' => 'u' ) ) );
$s = store_weaver_smtp_config( array( 'STORE_WEAVER_SMTP_HOST' => 'smtp.example.com', 'STORE_WEAVER_SMTP_ENCRYPTION' => 'ssl' ) );
check( 'smtp: ssl defaults to port 465', 465 === $s['port'], $s );
$s = store_weaver_smtp_config( array( 'STORE_WEAVER_SMTP_HOST' => 'smtp.example.com', 'STORE_WEAVER_SMTP_ENCRYPTION' => 'bogus' ) );
check( 'smtp: unknown encryption falls back to tls on 587', 'tls' === $s['encryption'] && 587 === $s['port'], $s );
$s = store_weaver_smtp_config( array( 'STORE_WEAVER_SMTP_HOST' => 'h', 'STORE_WEAVER_SMTP_PASSWORD' => ' pw with spaces ' ) );
check( 'smtp: password kept as given', ' pw with spaces ' === $s['password'], $s );

check( 'fonts: googleapis is Google Fonts', store_weaver_is_google_fonts_url( 'https://fonts.googleapis.com/css?family=Source+Sans+Pro' ) );
check( 'fonts: protocol-relative gstatic is Google Fonts', store_weaver_is_google_fonts_url( '//fonts.gstatic.com' ) );
check( 'fonts: the store\'s own stylesheet is not', ! store_weaver_is_google_fonts_url( 'http://acme.localhost/wp-content/themes/storefront/style.css' ) );
check( 'fonts: a look-alike host is not', ! store_weaver_is_google_fonts_url( 'https://fonts.googleapis.com.evil.example/x' ) );

$log = array();
for ( $i = 0; $i < 25; $i++ ) {
	$log = store_weaver_mail_log_append( $log, array( 'n' => $i ) );
}
check( 'mail log: keeps the last 20', 20 === count( $log ) && 5 === $log[0]['n'] && 24 === $log[19]['n'] );
check( 'mail log: a broken option is reset', array( array( 'n' => 1 ) ) === store_weaver_mail_log_append( 'garbage', array( 'n' => 1 ) ) );

// ------------------------------------------------------------------ wiring
$r = run_filter( 'pre_http_request', false, array( 'blocking' => false, 'timeout' => 0.01, 'headers' => array( 'X-Test' => 'kept' ) ), 'http://acme.localhost/wp-cron.php?doing_wp_cron=7' );
check( 'wiring: a cron request is answered through the loopback', is_array( $r ) && 1 === count( $GLOBALS['requests'] ), $GLOBALS['requests'] );
list( $url, $args ) = $GLOBALS['requests'][0];
check( 'wiring: to 127.0.0.1:8080', 'http://127.0.0.1:8080/wp-cron.php?doing_wp_cron=7' === $url, $url );
check( 'wiring: Host set, caller\'s headers and options kept', 'acme.localhost' === $args['headers']['Host'] && 'kept' === $args['headers']['X-Test'] && false === $args['blocking'], $args );
$GLOBALS['requests'] = array();
check( 'wiring: other requests pass through', false === run_filter( 'pre_http_request', false, array(), 'https://downloads.wordpress.org/plugin/woocommerce.zip' ) && array() === $GLOBALS['requests'] );
check( 'wiring: an earlier preempt is respected', 'earlier' === run_filter( 'pre_http_request', 'earlier', array(), 'http://acme.localhost/wp-cron.php' ) );

$m = new Fake_Mailer();
set_env( array( 'STORE_WEAVER_SMTP_HOST' => null ) );
run_filter( 'phpmailer_init', $m );
check( 'mail: without a relay PHPMailer is left alone', 'mail' === $m->Mailer && 'localhost' === $m->Host );
set_env(
	array(
		'STORE_WEAVER_SMTP_HOST'       => 'smtp.example.com',
		'STORE_WEAVER_SMTP_PORT'       => '2525',
		'STORE_WEAVER_SMTP_ENCRYPTION' => 'tls',
		'STORE_WEAVER_SMTP_USER'       => 'relay-user',
		'STORE_WEAVER_SMTP_PASSWORD'   => 's3cret from the Secret',
		'STORE_WEAVER_SMTP_FROM'       => 'orders@acme.example',
		'STORE_WEAVER_SMTP_FROM_NAME'  => 'Acme Shoes',
	)
);
$m = new Fake_Mailer();
run_filter( 'phpmailer_init', $m );
check( 'mail: relay configured', 'smtp' === $m->Mailer && 'smtp.example.com' === $m->Host && 2525 === $m->Port && 'tls' === $m->SMTPSecure, $m );
check( 'mail: authenticated with the password from the environment', $m->SMTPAuth && 'relay-user' === $m->Username && 's3cret from the Secret' === $m->Password, $m );
check( 'mail: From address and name', 'orders@acme.example' === $m->From && 'Acme Shoes' === $m->FromName, $m );
set_env( array( 'STORE_WEAVER_SMTP_USER' => null, 'STORE_WEAVER_SMTP_ENCRYPTION' => 'none', 'STORE_WEAVER_SMTP_FROM' => null ) );
$m = new Fake_Mailer();
run_filter( 'phpmailer_init', $m );
check( 'mail: no user, no auth; none = no TLS at all', ! $m->SMTPAuth && '' === $m->SMTPSecure && false === $m->SMTPAutoTLS && '' === $m->Password, $m );
check( 'mail: no From set keeps WordPress\'s', 'wordpress@acme.localhost' === $m->From, $m );

foreach ( $GLOBALS['hooks']['wp_mail_succeeded'] as $cb ) {
	$cb( array( 'to' => array( 'a@example.com', 'b@example.com' ), 'subject' => '[Acme] New order #42' ) );
}
$entry = end( $GLOBALS['options']['store_weaver_mail_log'] );
check( 'mail: a sent mail recorded, recipients counted not listed', true === $entry['ok'] && 2 === $entry['recipients'] && 'smtp' === $entry['via'] && false === strpos( serialize( $entry ), 'example.com' ), $entry );
set_env( array( 'STORE_WEAVER_SMTP_HOST' => null ) );
foreach ( $GLOBALS['hooks']['wp_mail_failed'] as $cb ) {
	$cb( new Fake_Error( 'Could not instantiate mail function.', array( 'to' => array( 'c@example.com' ), 'subject' => '[Acme] Your order' ) ) );
}
$entry = end( $GLOBALS['options']['store_weaver_mail_log'] );
check( 'mail: a failed mail recorded with its error', false === $entry['ok'] && 'Could not instantiate mail function.' === $entry['error'] && 'none' === $entry['via'], $entry );
$logged = (string) @file_get_contents( ini_get( 'error_log' ) );
check( 'mail: the failure is in the container log with the fix', false !== strpos( $logged, 'not sent: Could not instantiate mail function.' ) && false !== strpos( $logged, 'smtp.enabled' ), $logged );
check( 'mail: the password never reaches the log', false === strpos( $logged, 's3cret' ), $logged );
@unlink( ini_get( 'error_log' ) );

// The setup step (setup-store.sh sets STORE_WEAVER_STEP=setup) sends no mail
// whether mail is on or off: it says so, never "mail is off for this store".
check( 'mail: outside the setup step wp_mail is left alone', null === run_filter( 'pre_wp_mail', null, array( 'to' => 'a@example.com', 'subject' => 'x' ) ) );
set_env( array( 'STORE_WEAVER_STEP' => 'setup' ) );
$sent = run_filter( 'pre_wp_mail', null, array( 'to' => 'owner@example.com', 'subject' => '[Acme] Welcome to WooCommerce' ) );
check( 'setup: no mail is attempted', false === $sent, $sent );
$entry = end( $GLOBALS['options']['store_weaver_mail_log'] );
check( 'setup: recorded as the setup step\'s', false === $entry['ok'] && 'setup' === $entry['via'] && '[Acme] Welcome to WooCommerce' === $entry['subject'], $entry );
foreach ( $GLOBALS['hooks']['wp_mail_failed'] as $cb ) {
	$cb( new Fake_Error( 'Could not instantiate mail function.', array( 'to' => array( 'c@example.com' ), 'subject' => '[Acme] Other' ) ) );
}
$logged = (string) @file_get_contents( ini_get( 'error_log' ) );
check( 'setup: the log says the setup step sends no mail', false !== strpos( $logged, '"[Acme] Welcome to WooCommerce" not sent' ) && false !== strpos( $logged, 'the setup step sends no mail' ), $logged );
check( 'setup: no "mail is off" hint', false === strpos( $logged, 'mail is off' ) && false === strpos( $logged, 'smtp.enabled, smtp.host' ), $logged );
set_env( array( 'STORE_WEAVER_STEP' => null ) );
@unlink( ini_get( 'error_log' ) );

check( 'fonts on: no font filters', ! has_hook( 'style_loader_src' ) && ! has_hook( 'storefront_google_font_families' ) );
$out = array();
exec( escapeshellarg( PHP_BINARY ) . ' ' . escapeshellarg( __FILE__ ) . ' fonts-off 2>&1', $out, $rc );
echo implode( "\n", $out ), "\n";
$passed += count( preg_grep( '/^ok /', $out ) );
check( 'fonts off (second process) passed', 0 === $rc && count( preg_grep( '/^ok /', $out ) ) === 4, $out );

echo "mu-plugin-test: $passed passed, $failed failed\n";
exit( 0 === $failed ? 0 : 1 );
