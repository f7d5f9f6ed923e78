model y = m*x + acos(3)
loss mean((y - Y)^2)
