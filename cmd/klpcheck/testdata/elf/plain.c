/* A kernel-module-shaped object without any livepatch marker. */
static const char modinfo_license[] __attribute__((section(".modinfo"), used, aligned(1))) = "license=GPL";
static const char modinfo_name[] __attribute__((section(".modinfo"), used, aligned(1))) = "name=plain";

int plain_answer(void)
{
	return 42;
}
