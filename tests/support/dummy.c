/* keeps wc_test_support non-empty */
int wc_test_support_dummy;
