console.log("hello from ext_hello");
