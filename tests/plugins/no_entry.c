/* A perfectly good shared library that is not a CityLink plugin: no citylink_entry. */
int not_a_plugin(int x);
int not_a_plugin(int x) { return x + 1; }
